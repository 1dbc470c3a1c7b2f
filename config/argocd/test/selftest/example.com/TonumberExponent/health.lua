return { status = "Healthy", message = tostring(tonumber("1e3")) }
