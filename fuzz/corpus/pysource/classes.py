class A(object):
    def __reduce__(self):
        return (eval, ('1',))
@decorator
def g(x=1, *a, **k):
    global z
    z = x
    yield from a
