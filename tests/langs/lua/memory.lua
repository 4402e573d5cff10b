-- Keeps 1 MB strings until 1 GB, each one different.
local kept = {}
for i = 1, 1024 do kept[i] = string.rep(string.char(i % 255 + 1), 1048572) .. string.format("%04d", i) end
print("kept " .. #kept .. " MB")
