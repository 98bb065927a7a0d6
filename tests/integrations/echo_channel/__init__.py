"""Echo (回声): a channel that exists only in the tests, to prove that a channel is one package
plus its registration. Nothing outside this package names it: the tests register its ``SPEC``
(``integrations.registry.channel_register``) and everything else reads the registry.

A message is a signed-by-key JSON push ``{"id", "user", "text"}`` to
``/integrations/echo/<account>/messages``; notices go back through its own sender, which
keeps them in ``transport.SENT`` (a real channel would call its platform there)."""
