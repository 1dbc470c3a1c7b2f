for i = 1, 3 do if i == 2 then goto found end end do return { status = "Degraded" } end ::found:: return { status = "Healthy", message = "goto" }
