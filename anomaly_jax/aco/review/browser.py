"""Headless Debian Chromium driven by Selenium: the browser test's driver
and ``python -m anomaly_jax.aco.review.browser`` (a screenshot of a running
review page, e.g. for docs/results/review.png).

Uses the system ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (Debian
``chromium``, ``chromium-driver``; ``scripts/setup.sh`` installs them), a
fresh profile, and flags that keep Chromium off the network.
"""
import argparse
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--autoplay-policy=no-user-gesture-required",
         "--window-size=1400,900")


def chromium(profile: str, downloads: str | None = None) -> webdriver.Chrome:
  """A headless Chromium with a fresh profile in ``profile``; files it
  downloads go to ``downloads``."""
  os.environ.setdefault("SE_OFFLINE", "true")  # no Selenium Manager fetches
  o = Options()
  o.binary_location = CHROMIUM
  for f in FLAGS + (f"--user-data-dir={profile}",):
    o.add_argument(f)
  if downloads:
    o.add_experimental_option("prefs", {
        "download.default_directory": downloads,
        "download.prompt_for_download": False})
  driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
  if downloads:
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": downloads})
  return driver


def wait_for_rows(driver, timeout: float = 20.0):
  """Waits until the detections table has rows and one is selected."""
  WebDriverWait(driver, timeout).until(
      lambda d: d.find_elements(By.CSS_SELECTOR, "#table tbody tr.sel"))


def capture(driver, url: str, out: str, row: int = 0) -> str:
  """Opens ``url`` in ``driver``, selects row ``row`` (0: the first), waits
  for its spectrogram and saves a PNG to ``out``."""
  driver.get(url)
  wait_for_rows(driver)
  if row:
    driver.find_elements(By.CSS_SELECTOR, "#table tbody tr")[row].click()
  WebDriverWait(driver, 30).until(lambda d: d.execute_script(
      "const i = document.getElementById('spec');"
      "return i.complete && i.naturalWidth > 0;"))
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  driver.save_screenshot(out)
  return out


def screenshot(url: str, out: str, row: int = 0) -> str:
  """``capture`` in a fresh headless Chromium."""
  with tempfile.TemporaryDirectory() as profile:
    driver = chromium(profile)
    try:
      return capture(driver, url, out, row)
    finally:
      driver.quit()


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--url", default="http://127.0.0.1:8765/")
  p.add_argument("--out", default="docs/results/review.png")
  p.add_argument("--row", type=int, default=0, help="row to select first")
  a = p.parse_args(argv)
  print(screenshot(a.url, a.out, a.row))
  return 0


if __name__ == "__main__":
  sys.exit(main())
