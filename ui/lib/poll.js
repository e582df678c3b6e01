// Refreshing a page: `fn` runs now and then every `ms` while the tab is visible, one run at a
// time (a slow answer is never overtaken by the next request).

export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  async function tick() {
    timer = null;
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch (error) {
        console.warn("refresh failed:", error.message);
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  }
  const first = tick();
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
  stop.first = first; // resolves once the first run is done
  return stop;
}
