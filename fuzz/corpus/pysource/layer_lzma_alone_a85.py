import base64, lzma
exec(lzma.decompress(base64.a85decode('>lXkT!<<*!s8W-!rr=mF8nYY34EKmHQJm2e<KB3-qQfL%[V>[l@0%R%s-3ii!!')))
