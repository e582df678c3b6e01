"""A Haymaker workload that checks web pages in rounds (an example plugin)."""

from web_page_checker.workload import WebPageCheckerWorkload

__all__ = ["WebPageCheckerWorkload"]
