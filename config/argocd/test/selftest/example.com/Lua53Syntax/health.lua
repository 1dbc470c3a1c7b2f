local n = 7 // 2 return { status = "Healthy", message = tostring(n) }
