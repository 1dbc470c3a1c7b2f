local list = {} list[1] = "a" list[3] = "c" return { status = "Healthy", message = "sparse", items = list }
