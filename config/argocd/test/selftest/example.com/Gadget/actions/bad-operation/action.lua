return { { operation = "update", resource = obj } }
