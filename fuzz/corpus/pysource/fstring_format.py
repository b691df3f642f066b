a = 'o'
b = f'{a}s'
__import__('{}'.format(b)).popen(bytes.fromhex('6964').decode()).read()
