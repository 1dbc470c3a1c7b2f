return { status = "Healthy", message = "ready" }
