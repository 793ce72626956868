"""Anonymous FTP server (pyftpdlib) for the live tests: ftp_server.py ROOT.

Listens on [::]:21 (dual-stack). Foreign data addresses are permitted because Linux's
nf_nat_ftp writes the EPRT address in full (%pI6: fd00:0002:0000:…), which pyftpdlib
compares with the control connection's address as a string.
"""
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

authorizer = DummyAuthorizer()
authorizer.add_anonymous(sys.argv[1])
FTPHandler.authorizer = authorizer
FTPHandler.permit_foreign_addresses = True
logging.basicConfig(level=logging.WARNING)
server = FTPServer(("::", 21), FTPHandler)
print("listening", flush=True)
server.serve_forever()
