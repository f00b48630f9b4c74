"""The review page in headless Debian Chromium (Selenium): label with a key,
reload, find the label (and the SQLite row); the audio element loads a WAV;
the Raven export downloads a table that parses back."""
import os
import threading
import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from anomaly_jax.aco.review import app as app_lib
from anomaly_jax.aco.review import browser
from anomaly_jax.aco.review import detections as det_lib
from anomaly_jax.aco.review import exports, labels as labels_lib
import review_fixture


@pytest.fixture(scope="module")
def page(tmp_path_factory):
  root = tmp_path_factory.mktemp("browser")
  archive, workdir = review_fixture.make(str(root))
  server = make_server("127.0.0.1", 0, app_lib.create_app(workdir, archive),
                       threaded=True)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  downloads = str(root / "downloads")
  os.makedirs(downloads)
  driver = browser.chromium(str(root / "profile"), downloads)
  yield driver, f"http://127.0.0.1:{server.server_port}/", workdir, downloads
  driver.quit()
  server.shutdown()


def _label_of(driver, det_id: int) -> str:
  return driver.find_element(By.CSS_SELECTOR, f"#row-{det_id} .label").text


def test_label_with_a_key_survives_a_reload(page):
  driver, url, workdir, _ = page
  driver.get(url)
  browser.wait_for_rows(driver)
  first = det_lib.load(workdir)[0]
  ActionChains(driver).send_keys("f").perform()
  WebDriverWait(driver, 10).until(lambda d: "false" in _label_of(d, 1))
  # The page moved on to the next detection; "k" goes back.
  ActionChains(driver).send_keys("k").perform()
  assert "sel" in driver.find_element(By.ID, "row-1").get_attribute("class")
  s = labels_lib.Labels(os.path.join(workdir, det_lib.STORE))
  assert s.latest()[first.key]["label"] == "false"
  s.close()
  driver.refresh()
  browser.wait_for_rows(driver)
  assert _label_of(driver, 1).startswith("false")


def test_audio_element_loads_a_wav(page):
  driver, url, _, _ = page
  driver.get(url)
  browser.wait_for_rows(driver)
  WebDriverWait(driver, 20).until(lambda d: d.execute_script(
      "const p = document.getElementById('player');"
      "return p.readyState >= 1 && p.duration > 0;"))
  src = driver.find_element(By.ID, "player").get_attribute("src")
  assert "/api/detections/1/audio.wav" in src and "speed=10" in src
  kind = driver.execute_async_script(
      "const done = arguments[arguments.length - 1];"
      "fetch(document.getElementById('player').src)"
      ".then(r => done(r.headers.get('content-type')));")
  assert kind.startswith("audio/wav")


def test_raven_export_downloads_a_table_that_parses(page, tmp_path):
  driver, url, workdir, downloads = page
  driver.get(url)
  browser.wait_for_rows(driver)
  driver.find_element(By.ID, "ex-raven").click()
  path = os.path.join(downloads, "detections_all.selections.txt")
  t0 = time.time()
  while not os.path.exists(path) and time.time() - t0 < 20:
    time.sleep(0.1)
  rows = exports.read_raven(path)
  assert len(rows) == len(det_lib.load(workdir))
  assert [int(r["Rank"]) for r in rows] == list(range(1, len(rows) + 1))
  shot = browser.capture(driver, url, str(tmp_path / "review.png"), row=1)
  with open(shot, "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
