local detail = { reason = "ok" } return { status = "Healthy", message = "shared", first = detail, second = detail }
