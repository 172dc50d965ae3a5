from tests.conftest import login


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True)


def test_organizer_can_log_in(client, organizer):
    response = login(client, organizer)
    assert response.status_code == 302
