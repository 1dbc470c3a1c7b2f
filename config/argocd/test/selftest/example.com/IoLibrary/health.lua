io.write("x") return { status = "Healthy" }
