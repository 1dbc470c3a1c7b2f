return { status = "Healthy", message = "ratio " .. (2 / 3) }
