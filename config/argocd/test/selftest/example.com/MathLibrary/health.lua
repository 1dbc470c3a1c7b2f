return { status = "Healthy", message = tostring(math.floor(1.5)) }
