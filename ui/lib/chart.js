// Lines over time with uPlot (vendored from npm, ui/vendor/): counts on the left axis, tokens
// on the right. Each series is cumulative and carried forward between its own points.

import uPlot from "../vendor/uPlot.esm.js";

const COLORS = ["#1f5fa8", "#8a5a00", "#2e7d32", "#6a1b9a", "#b3261e", "#00695c", "#5d4037"];

/** series: [{label, points: [[unixSeconds, value], ...], scale: "count"|"tokens"}] */
export function aligned(series) {
  const times = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const columns = series.map((s) => {
    const byTime = new Map(s.points);
    let last = null;
    return times.map((t) => {
      if (byTime.has(t)) last = byTime.get(t);
      return last;
    });
  });
  return [times, ...columns];
}

export class ProgressChart {
  constructor(container) {
    this.container = container;
    this.plot = null;
    this.labels = "";
    this.resize = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize(this.size());
    });
    this.resize.observe(container);
  }

  size() {
    return { width: Math.max(240, this.container.clientWidth), height: 220 };
  }

  update(series) {
    const shown = series.filter((s) => s.points.length);
    if (!shown.length) return;
    const labels = shown.map((s) => s.label).join("|");
    const data = aligned(shown);
    if (this.plot && labels === this.labels) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.labels = labels;
    const tokens = shown.some((s) => s.scale === "tokens");
    this.plot = new uPlot(
      {
        ...this.size(),
        scales: { x: { time: true }, count: { auto: true }, tokens: { auto: true } },
        axes: [
          {},
          { scale: "count", label: "count" },
          ...(tokens ? [{ scale: "tokens", side: 1, label: "tokens", grid: { show: false } }] : []),
        ],
        series: [
          { label: "time" },
          ...shown.map((s, i) => ({
            label: s.label,
            scale: s.scale || "count",
            stroke: COLORS[i % COLORS.length],
            width: 2,
            spanGaps: true,
          })),
        ],
      },
      data,
      this.container,
    );
  }

  destroy() {
    this.resize.disconnect();
    this.plot?.destroy();
  }
}
