from tests import factories


def test_a_unit_and_its_account_round_trip(client):
    unit = factories.unit(client)
    account = factories.account(client, unit["id"], "youxi_police")
    got = client.get(f"/v1/accounts/{account['id']}").json()
    assert got["unit_name"] == "尤溪县公安局"
    assert got["source_status"]["state"] == "none"
