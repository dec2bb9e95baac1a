"""Registry rows for tests, created through the API as a user would."""
from service.registry.codes import credit_code_check_character


def credit_code(region_code: str, serial: int) -> str:
    """A check-digit-valid credit code of a government body (登记管理部门 1, 机关 1)."""
    first17 = f"11{region_code}{serial:09d}"
    return first17 + credit_code_check_character(first17)


def unit(client, name: str = "尤溪县公安局", region_code: str = "350426", **fields) -> dict:
    response = client.post("/v1/units", json={"name": name, "region_code": region_code, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def account(client, unit_id: int, handle: str, platform: str = "wechat", name: str | None = None, **fields) -> dict:
    body = {"platform": platform, "name": name or handle, "handle": handle, "unit_id": unit_id, **fields}
    response = client.post("/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    return response.json()
