return { "extra", status = "Healthy", message = "mixed" }
