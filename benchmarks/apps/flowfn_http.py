from flowfn import on_http


@on_http("POST", "/items/{id}")
def handle(request):
    return {"id": request.path_params["id"], "size": len(request.body)}
