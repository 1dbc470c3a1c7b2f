error("the widget is not broken")
