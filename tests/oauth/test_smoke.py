from http import HTTPStatus


def test_client_credentials_issues_token(http, m2m):
    # given an M2M application granted two scopes of an API
    # when it asks for a token without naming scopes
    response = http.post(m2m.token_path(), data=m2m.form())
    # then it gets all the granted scopes
    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json()["scope"] == "read:things write:things"
