return { status = "Great", message = "all good" }
