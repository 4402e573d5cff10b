defmodule Busy do
  def loop, do: loop()
end

Busy.loop()
