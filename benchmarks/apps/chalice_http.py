from chalice import Chalice

app = Chalice(app_name="bench")


@app.route("/items/{id}", methods=["POST"])
def handle(id):
    return {"id": id, "size": len(app.current_request.raw_body)}
