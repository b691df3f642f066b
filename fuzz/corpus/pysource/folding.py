s = ''
for c in [111, 115]:
    s += chr(c)
__import__(s[::-1][::-1]).system('%s%s' % ('i', 'd'))
