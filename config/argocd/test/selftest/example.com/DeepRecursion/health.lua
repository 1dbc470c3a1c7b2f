local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end return { status = "Healthy", message = tostring(depth(300)) }
