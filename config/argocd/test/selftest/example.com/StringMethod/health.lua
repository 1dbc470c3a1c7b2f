return { status = "Healthy", message = obj.status.phase:upper() }
