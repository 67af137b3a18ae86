"""Dashboards: one ``pn.viewable.Viewer`` per audience, and the widgets they share."""
