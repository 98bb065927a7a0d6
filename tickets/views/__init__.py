"""The live inbox: staff pages for the queue and single tickets (Django templates + htmx).

Views parse input and hand it to one selector or service; they never write tickets themselves.
"""
