import base64
exec(base64.b64decode('=kyJkl2Jo0WZ0NXez5ycvByOz9GI0J3bw1Wa'[::-1]))
