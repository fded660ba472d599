import SluiceSys
print("sluicectl: not yet implemented")
