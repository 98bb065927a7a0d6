urlpatterns: list = []  # filled by the API module
