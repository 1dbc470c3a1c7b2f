return { status = "Healthy", message = tostring(obj.spec.items[3]) }
