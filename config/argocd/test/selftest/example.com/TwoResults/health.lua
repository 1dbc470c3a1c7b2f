return { status = "Healthy", message = "first" }, "second"
