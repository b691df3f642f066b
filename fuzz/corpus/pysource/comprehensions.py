x = {k: v for k, v in zip('ab', [1, 2])}
y = {c for c in 'abc'}
z = list(map(chr, range(97, 100)))
w = (i async for i in aiter())
