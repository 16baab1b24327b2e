"""The app the HTTP load benchmark serves: a GET that reads its path and query, a POST that
parses its JSON body."""

from flowfn import on_http


@on_http("GET", "/items/{item_id}")
def get_item(request):
    return {"id": request.path_params["item_id"], "q": request.query.get("q")}


@on_http("POST", "/items")
def create_item(request):
    return {"created": request.json()}
