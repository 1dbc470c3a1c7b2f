if obj.status.note == nil then return { status = "Healthy", message = "null is nil" } end return { status = "Degraded" }
