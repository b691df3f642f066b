import base64, bz2
exec(bz2.decompress(base64.b85decode('LRx4!F+o`-Q&|W?jSv6;1(|?A;Q$B*BHSP#03oOu2ct++00hyN+s=V}^y*0D+Lb`~yOJrwgn&X6Xn+')))
