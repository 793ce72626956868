"""FTP client (ftplib) for the live tests: ftp_client.py ADDR passive|active FILE.

Prints "SIZE SHA256" of the downloaded file, or "fail: …".
"""
import ftplib
import hashlib
import sys

addr, mode, name = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    ftp = ftplib.FTP(timeout=5)
    ftp.connect(addr, 21)
    ftp.login()
    ftp.set_pasv(mode == "passive")
    data = bytearray()
    ftp.retrbinary("RETR " + name, data.extend)
    ftp.quit()
    print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
except Exception as e:  # noqa: BLE001 - the test reads the reason
    print("fail:", e, flush=True)
