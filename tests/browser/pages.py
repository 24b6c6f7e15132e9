"""What a person does on the console, as steps the tests share."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 20


def wait(driver, seconds: float = WAIT_S) -> WebDriverWait:  # noqa: ANN001
    return WebDriverWait(driver, seconds)


def sign_in(driver, server, username: str, password: str = "demo-pass-123") -> None:  # noqa: ANN001
    driver.get(f"{server.url}/console/login")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{server.url}/console/login")
    wait(driver).until(EC.element_to_be_clickable((By.NAME, "username"))).send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    wait(driver).until(EC.url_to_be(f"{server.url}/console/"))
    wait(driver).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".bar .who"),
                                                        "望京"))


def visible_text(driver, css: str) -> str:  # noqa: ANN001
    return wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css))).text
