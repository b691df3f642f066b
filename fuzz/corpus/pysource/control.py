try:
    import os
except ImportError:
    os = None
else:
    pass
finally:
    x = 1
while x:
    x -= 1
match x:
    case [1, 2]: pass
    case _: eval(y)
with open('f') as fh, ctx() as g:
    fh.write(globals()['__builtins__'].__dict__['exec'])
