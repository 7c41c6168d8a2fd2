"""Fakes of the servers Namaskah talks to, for tests and development only.

Product code never imports this package, and a fake never imports the client it fakes: the client
is tested against a server it did not write.
"""
