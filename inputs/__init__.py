"""User pictures: turning any picture into the 28x28 input the network receives."""
