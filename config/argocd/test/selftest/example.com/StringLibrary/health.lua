return { status = "Healthy", message = string.upper(obj.status.phase) }
