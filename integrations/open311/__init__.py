"""Open311 GeoReport v2 (``/open311/v2/``): services are our categories, requests are published
cases (redacted), and POST files a case through the same intake as every channel."""
